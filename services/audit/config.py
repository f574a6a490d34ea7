from services.common.settings import CommonSettings


class AuditSettings(CommonSettings):
    """SERAH_* variables; see deploy/env.template."""
