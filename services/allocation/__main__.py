from services.allocation.config import AllocationSettings
from services.allocation.stream import build_app
from services.common.worker import run_worker

if __name__ == "__main__":
    run_worker(build_app(AllocationSettings()))
