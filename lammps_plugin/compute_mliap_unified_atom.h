// compute ID group mliap/unified/atom MODEL El1 El2 ...: a per-atom ML-IAP *unified* Python
// model as a LAMMPS per-atom array (dump custom, fix ave/atom, variables, compute reduce).
// Same coupling and data object as pair_style mliap/unified (full neighbour list within the
// model's cutoff, rij = x_j - x_i, ghosts included); the model fills n_outputs columns per
// atom of the group (alloykit.mliap.coupling.connect_peratom).
#ifndef ALLOYKIT_COMPUTE_MLIAP_UNIFIED_ATOM_H
#define ALLOYKIT_COMPUTE_MLIAP_UNIFIED_ATOM_H

#include "compute.h"
#include "mliap_pairs.h"

#include <string>
#include <vector>

typedef struct _object PyObject;

namespace LAMMPS_NS {

class ComputeMLIAPUnifiedAtom : public Compute {
 public:
  ComputeMLIAPUnifiedAtom(class LAMMPS *, int, char **);
  ~ComputeMLIAPUnifiedAtom() override;
  void init() override;
  void init_list(int, class NeighList *) override;
  void compute_peratom() override;
  double memory_usage() override;

 private:
  PyObject *iface;                      // alloykit.mliap.coupling.PerAtomInterface
  double cutoff;                        // 2 * rcutfac, as for the pair style
  int ncols;                            // the model's n_outputs
  std::vector<int> map;                 // atom type -> element index, -1 for NULL
  class NeighList *list;
  int nmax;
  double **values;                      // nmax x ncols, LAMMPS's array_atom

  // per-call buffers lent to Python without copies
  alloykit_py::MliapPairs pairs;
  std::vector<double> out;
};

}    // namespace LAMMPS_NS

#endif
