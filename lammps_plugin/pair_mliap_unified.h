// pair_style mliap/unified: runs an ML-IAP *unified* Python model (LAMMPS's
// python/lammps/mliap interface) on a LAMMPS built without the PYTHON package.
// The C++ side only gathers the neighbour pairs and hands zero-copy buffers to
// alloykit.mliap.coupling, where the model and the data object live.
#ifndef ALLOYKIT_PAIR_MLIAP_UNIFIED_H
#define ALLOYKIT_PAIR_MLIAP_UNIFIED_H

#include "mliap_pairs.h"
#include "pair.h"

#include <string>
#include <vector>

typedef struct _object PyObject;

namespace LAMMPS_NS {

class PairMLIAPUnified : public Pair {
 public:
  PairMLIAPUnified(class LAMMPS *);
  ~PairMLIAPUnified() override;
  void compute(int, int) override;
  void settings(int, char **) override;
  void coeff(int, char **) override;
  void init_style() override;
  double init_one(int, int) override;

 private:
  PyObject *iface;                      // alloykit.mliap.coupling.Interface
  double rcutfac;                       // pair cutoff is 2*rcutfac, as in ML-IAP unified
  std::vector<std::string> elements;    // the model's element_types
  int *map;                             // atom type -> element index, -1 for NULL

  // per-call buffers, grown as needed and lent to Python without copies
  alloykit_py::MliapPairs pairs;
  std::vector<double> eatoms;
  double energy;

  void allocate();
};

}    // namespace LAMMPS_NS

#endif
