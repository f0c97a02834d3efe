"""Saving runs: pytest-benchmark's file storage, made atomic and unable to overwrite a saved run."""

from __future__ import annotations

import os

from pytest_benchmark.storage.file import FileStorage
from pytest_benchmark.utils import safe_dumps

from benchmarks.model.files import OutputError, write_beside
from benchmarks.model.schema import VERSION, VERSION_KEY

from .internals import next_run_number


class AtomicFileStorage(FileStorage):
    """pytest-benchmark's file storage, saving each run atomically under a name no other run holds, with the run format
    it is saved in, and telling `on_save`."""

    def __init__(self, path, logger, default_machine_id=None, on_save=lambda path: None, on_fail=lambda reason: None):
        super().__init__(path, logger, default_machine_id)
        self.on_save, self.on_fail = on_save, on_fail

    def save(self, output_json, save):
        data = safe_dumps(output_json | {VERSION_KEY: VERSION}, ensure_ascii=True, indent=4).encode()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            while True:
                target = self.get(f"{next_run_number(self)}_{save}.json")
                target.parent.mkdir(parents=True, exist_ok=True)
                temporary = write_beside(target, data)
                try:
                    os.link(temporary, target)  # fails if the name was taken meanwhile: never overwrite a run
                except FileExistsError:
                    continue
                finally:
                    os.unlink(temporary)
                break
        except OutputError as error:  # a full disk, a write error: nothing saved, nothing half-saved
            self.on_fail(f"the run could not be saved: {error}")
            return None
        except OSError as error:
            self.on_fail(f"the run could not be saved in {self.path}: {error.strerror or error}")
            return None
        self.logger.info(f"Saved benchmark data in: {target}")
        self.on_save(target)
        return target
