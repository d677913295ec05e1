"""Compare PostgreSQL with Chroma and the data folder per learner; report and repair drift.

PostgreSQL is the source of truth. Drift is what a crash, an older version or a hand on the
files can leave:

- `half-done`: a material still 'indexing' (rows, maybe vectors) or 'deleting';
- `missing-vectors`: chunks of a ready material without a vector;
- `orphan-vectors`: vectors whose chunk is not in PostgreSQL;
- `model-mismatch`: the index was built by another embedding model than configured;
- `stray-collection`: a collection of the learner that the index pointer does not name
  (an interrupted rebuild), or of a learner who no longer exists;
- `stray-file`: an original PDF (or a partial write of one) without its material, or of a
  learner who no longer exists;
- `page-rows`: a ready material whose page rows are not exactly pages 1..page count of it;
- `chunk-text`: chunks whose text no longer matches the hash stored when they were made;
- `corrupt-original`: an original PDF whose content does not match its material's SHA-256;
- `expired-export`: a data export kept past its expiry (`export_ttl_h`);
- `stray-export`: an export file without its finished, undismissed export job (a failed or
  dismissed one, a partial write of a job no longer running, a name of no job of that
  learner), or of a learner who no longer exists;
- `stray-spool`: an upload still in the spool after its job ended, or, naming no learner, one
  that no job refers to (only when older than `UNCLAIMED_SPOOL_AGE`: an upload is written
  just before its job row);
- `open-permissions`: a learner's file or folder that others may read (versions before
  this one wrote originals 0644 in 0755 folders), or one of the shared folders.

Repair finishes half-done work (completing ingestions, finishing deletions), embeds missing
vectors (or rebuilds the whole index on a model mismatch), removes orphans and strays, removes
corrupt originals (the export then gives the stored text), writes page rows again from the
original PDF and re-chunks materials whose chunk text changed, removes expired and stray
exports and spooled uploads, and makes files owner-only.

A missing original is not drift: materials uploaded before originals were kept have none (their
export gives the stored page text).

A check of one learner (`user_id=...`) reads and repairs that learner's rows and files only;
drift that names no learner (`Drift.user_id is None`) is looked for only when checking
everyone.

The package: `scan` reads what PostgreSQL, Chroma and the data folder hold, `drift` compares
it (`check`), `repair` mends it (`repair`).
"""

from engine.integrity.drift import Drift, check
from engine.integrity.repair import repair
from engine.integrity.scan import HALF_DONE, UNCLAIMED_SPOOL_AGE

__all__ = ["HALF_DONE", "UNCLAIMED_SPOOL_AGE", "Drift", "check", "repair"]
