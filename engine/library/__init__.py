"""The library service: ingest PDFs, list/rename/delete/preview materials, search them.

PostgreSQL holds materials, pages and chunks (the source of truth); Chroma holds one vector
per chunk; the data folder keeps the original PDFs. The writes are ordered so that a crash at
any point leaves a state that is complete or that `python -m engine check --repair`
(`engine.integrity`) completes:

- ingest (`ingest`): original file -> rows committed as 'indexing' -> vectors -> 'ready';
- delete (`materials`): 'deleting' committed -> vectors removed -> rows removed -> original
  removed;
- rebuild (`index`): a new collection filled -> the pointer in PostgreSQL switched -> old one
  dropped; `reclean` brings materials of an older text pipeline up to date.

Materials that are not 'ready' are never searched; 'deleting' ones are not listed either. A
failure (rather than a crash) undoes the half-done write at once, so a refused or failed file
leaves nothing behind.

Pages, jobs and the CLI use the names below (`from engine import library`).
"""

from engine.library.index import (
    embed_into,
    index_is_current,
    index_model,
    reindex,
    search_library,
    vector_count,
)
from engine.library.ingest import ingest_documents, ingest_pages, ingest_pdf
from engine.library.ingest_values import (
    DocumentInput,
    IngestPaused,
    IngestProgress,
    IngestResult,
    IngestStage,
    ProgressCallback,
    StepAside,
)
from engine.library.materials import (
    MaterialInfo,
    PageView,
    delete_material,
    find_duplicate,
    finish_delete,
    get_material,
    list_materials,
    material_pages,
    rename_material,
)
from engine.library.store import undo_interrupted_ingestion
from engine.library.titles import TITLE_MAX, choose_title

__all__ = [
    "TITLE_MAX",
    "DocumentInput",
    "IngestPaused",
    "IngestProgress",
    "IngestResult",
    "IngestStage",
    "MaterialInfo",
    "PageView",
    "ProgressCallback",
    "StepAside",
    "choose_title",
    "delete_material",
    "embed_into",
    "finish_delete",
    "find_duplicate",
    "get_material",
    "index_is_current",
    "index_model",
    "ingest_documents",
    "ingest_pages",
    "ingest_pdf",
    "list_materials",
    "material_pages",
    "reindex",
    "rename_material",
    "search_library",
    "undo_interrupted_ingestion",
    "vector_count",
]
