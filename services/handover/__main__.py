from services.common.worker import run_worker
from services.handover.config import HandoverSettings
from services.handover.stream import build_app

if __name__ == "__main__":
    run_worker(build_app(HandoverSettings()))
