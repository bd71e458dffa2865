# SPDX-License-Identifier: MIT
# Promela models of the MMU protocols, checked exhaustively with spin.
SCRIPT_TESTS += tests/models/check_models.py
