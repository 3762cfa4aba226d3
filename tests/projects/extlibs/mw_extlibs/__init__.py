from ._core import call_strlen, yaml_version

__all__ = ["call_strlen", "yaml_version"]
