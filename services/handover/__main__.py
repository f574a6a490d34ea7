from services.handover.config import HandoverSettings
from services.handover.stream import build_app
from services.common.worker import run_worker

if __name__ == "__main__":
    run_worker(build_app(HandoverSettings()))
