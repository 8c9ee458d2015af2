from sqlalchemy import text


async def test_database_is_migrated(session):
    version = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    assert version == "0001"
