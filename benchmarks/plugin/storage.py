"""Saving runs: pytest-benchmark's file storage, made atomic and unable to overwrite a saved run."""

from __future__ import annotations

import os

from pytest_benchmark.storage.file import FileStorage
from pytest_benchmark.utils import safe_dumps

from benchmarks.model.files import write_beside
from benchmarks.model.schema import VERSION, VERSION_KEY


class AtomicFileStorage(FileStorage):
    """pytest-benchmark's file storage, saving each run atomically under a name no other run holds, with the run format it
    is saved in, and telling `on_save`."""

    def __init__(self, path, logger, default_machine_id=None, on_save=lambda path: None):
        super().__init__(path, logger, default_machine_id)
        self.on_save = on_save

    def save(self, output_json, save):
        self.path.mkdir(parents=True, exist_ok=True)
        data = safe_dumps(output_json | {VERSION_KEY: VERSION}, ensure_ascii=True, indent=4).encode()
        while True:
            target = self.get(f"{self._next_num}_{save}.json")
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = write_beside(target, data)
            try:
                os.link(temporary, target)  # fails if the name was taken meanwhile: never overwrite a run
            except FileExistsError:
                continue
            finally:
                os.unlink(temporary)
            self.logger.info(f"Saved benchmark data in: {target}")
            self.on_save(target)
            return target
