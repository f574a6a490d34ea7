from services.common.settings import CommonSettings


class AllocationSettings(CommonSettings):
    """SERAH_* variables; see deploy/env.template."""
