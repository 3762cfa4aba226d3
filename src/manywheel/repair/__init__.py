"""Wheel repair after the inner build: libraries bundled into the wheel (``bundle``), libraries
other wheels provide (``provided``), the RUNPATHs both need (``runpath``), and the SBOM (``sbom``)."""
