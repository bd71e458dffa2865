# SPDX-License-Identifier: MIT
# `make mutants`: the single-point breakages of tests/mutants/mutants.txt, each
# applied in turn to a scratch copy of the tree, against the programs of
# `make test` that should catch it, at their default durations.  Not part of
# `make test`.  MUTANTS_ARGS passes options: --only ID,... --repeat N --all
# --tests PROG,... (see tests/mutants/run_mutants.py).
.PHONY: mutants
mutants:
	@python3 tests/mutants/run_mutants.py $(MUTANTS_ARGS)
