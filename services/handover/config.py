from services.common.settings import CommonSettings


class HandoverSettings(CommonSettings):
    """SERAH_* variables; see deploy/env.template."""
