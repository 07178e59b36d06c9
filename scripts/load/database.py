"""The load run's own database beside the one of DATABASE_URL: made (a template copy when possible), dropped."""

import subprocess
import sys
from urllib.parse import quote, unquote, urlparse

import psycopg2

from load.common import ROOT


def _connect(url: str, dbname: str):
    parts = urlparse(url)
    return psycopg2.connect(
        dbname=dbname,
        user=unquote(parts.username or "") or None,
        password=unquote(parts.password or "") or None,
        host=unquote(parts.hostname or "") or None,
        port=parts.port,
    )


def _with_name(url: str, name: str) -> str:
    parts = urlparse(url)
    return parts._replace(path=f"/{quote(name)}").geturl()


def _is_empty_and_migrated(url: str) -> bool:
    try:
        conn = _connect(url, urlparse(url).path.lstrip("/"))
    except psycopg2.Error:
        return False
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT to_regclass('patients_patient') IS NOT NULL")
            if not cursor.fetchone()[0]:
                return False
            cursor.execute("SELECT count(*) FROM patients_patient")
            return cursor.fetchone()[0] == 0
    finally:
        conn.close()


def create_database(base_url: str, name: str) -> str:
    """A fresh database `name` on the server of `base_url`, migrated; its URL."""
    base_name = urlparse(base_url).path.lstrip("/")
    template = _is_empty_and_migrated(base_url)
    admin = _connect(base_url, "postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            try:
                if not template:
                    raise psycopg2.Error
                cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{base_name}"')
            except psycopg2.Error:  # not migrated, holds patients, or in use: a new database and migrate
                cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        admin.close()
    return _with_name(base_url, name)


def drop_database(base_url: str, name: str) -> None:
    admin = _connect(base_url, "postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


def manage(*args: str, env: dict) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)
