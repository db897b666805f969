"""Docker labels that mark everything the lab creates, so cleanup never depends on memory."""

MANAGED = "io.mysqllab.managed"
LAB = "io.mysqllab.lab"
SERVER = "io.mysqllab.server"
DC = "io.mysqllab.dc"
TOPOLOGY = "io.mysqllab.topology"
SEED_OF = "io.mysqllab.seed-of"
SEED_FORMAT = "io.mysqllab.seed-format"
SERVER_BINARY = "io.mysqllab.server-binary"
SERVER_VERSION = "io.mysqllab.server-version"
MYSQL_UID = "io.mysqllab.mysql-uid"


def for_lab(lab_name: str) -> dict[str, str]:
    return {MANAGED: "true", LAB: lab_name}
