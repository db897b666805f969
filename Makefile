# The two entry points of the README. Both set everything up first (idempotent).
.PHONY: setup demo test lint down

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/lab demo

test:
	LAB_TEST_TOOLS=1 bash scripts/setup.sh
	.venv/bin/ruff check .
	.venv/bin/pytest

lint:
	.venv/bin/ruff check .

down:
	.venv/bin/lab down --all
