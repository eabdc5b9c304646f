"""The service catalogue (公共法律服务事项目录): what the one window offers, who handles it, with
which materials and time limits, in which regions, institutions and villages.

``entries`` holds the fixed code lists (categories, modes, languages, outcomes); ``schema`` the
shape of the deployment's catalogue file; ``loader`` reads and checks it (errors name the line);
``model`` is the checked, immutable catalogue the rest of the product asks.
"""

from server.catalogue.entries import (
    CATEGORIES,
    LANGUAGES,
    MODES,
    OUTCOMES,
    SERVICE_TYPES,
    Entry,
    Mode,
    as_dict,
    codes,
)
from server.catalogue.loader import (
    CatalogueError,
    configured_catalogue,
    default_catalogue,
    load_catalogue,
)
from server.catalogue.model import Catalogue

__all__ = [
    "CATEGORIES",
    "LANGUAGES",
    "MODES",
    "OUTCOMES",
    "SERVICE_TYPES",
    "Catalogue",
    "CatalogueError",
    "Entry",
    "Mode",
    "as_dict",
    "codes",
    "configured_catalogue",
    "default_catalogue",
    "load_catalogue",
]
