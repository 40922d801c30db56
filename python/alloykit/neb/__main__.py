"""``mpiexec -n N python -m alloykit.neb DATASET [--quiet]``: compute the pending vacancies
of a planned dataset (what ``alloykit neb run`` starts when it is not under mpiexec)."""
import sys

from .farm import main

sys.exit(main())
