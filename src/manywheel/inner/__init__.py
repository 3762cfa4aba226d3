"""The inner-backend adapters: loading and calling the project's own PEP 517 backend
(``hooks``), setuptools' parallel compilation (``parallel``), a reproducible sdist (``sdist``) and
setuptools' build requirements (``requires``)."""
