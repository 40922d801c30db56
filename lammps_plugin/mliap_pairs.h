// The neighbour pairs an ML-IAP unified model sees, in LAMMPS ML-IAP order: for each list
// atom i (owned, with an element), its neighbours j with an element inside the model's
// cutoff, rij = x_j - x_i, each bond once per direction (full list). Shared by
// pair_style mliap/unified and compute mliap/unified/atom; the buffers are lent to Python.
#ifndef ALLOYKIT_MLIAP_PAIRS_H
#define ALLOYKIT_MLIAP_PAIRS_H

#include "atom.h"
#include "neigh_list.h"

#include <vector>

namespace alloykit_py {

struct MliapPairs {
  std::vector<double> rij;
  std::vector<int> pair_i, jatoms, jelems, iatoms, ielems, numneighs, elems;
  std::vector<LAMMPS_NS::tagint> jtags, itags;    // LAMMPS's own tag width (smallbig or bigbig)
  int nlistatoms = 0, npairs = 0;

  // map: atom type -> element (-1: NULL); groupbit: list atoms must be in it (~0: all)
  void build(LAMMPS_NS::Atom *atom, LAMMPS_NS::NeighList *list, const int *map, double cutoff,
             int groupbit = ~0)
  {
    double **x = atom->x;
    const int *type = atom->type, *mask = atom->mask;
    const LAMMPS_NS::tagint *tag = atom->tag;
    const int inum = list->inum;
    const int nall = atom->nlocal + atom->nghost;
    const double cutsq = cutoff * cutoff;

    size_t maxpairs = 0;
    for (int ii = 0; ii < inum; ii++) maxpairs += list->numneigh[list->ilist[ii]];
    if (pair_i.size() < maxpairs) {
      rij.resize(3 * maxpairs);
      pair_i.resize(maxpairs);
      jatoms.resize(maxpairs);
      jelems.resize(maxpairs);
      jtags.resize(maxpairs);
    }
    if (iatoms.size() < (size_t) inum) {
      iatoms.resize(inum);
      ielems.resize(inum);
      numneighs.resize(inum);
      itags.resize(inum);
    }
    if (elems.size() < (size_t) nall) elems.resize(nall);
    for (int i = 0; i < nall; i++) elems[i] = map[type[i]];

    int n = 0, nl = 0;
    for (int ii = 0; ii < inum; ii++) {
      const int i = list->ilist[ii];
      const int ielem = map[type[i]];
      if (ielem < 0 || !(mask[i] & groupbit)) continue;
      const int *jlist = list->firstneigh[i];
      const int jnum = list->numneigh[i];
      int inside = 0;
      for (int jj = 0; jj < jnum; jj++) {
        const int j = jlist[jj] & NEIGHMASK;
        const int jelem = map[type[j]];
        if (jelem < 0) continue;
        const double dx = x[j][0] - x[i][0], dy = x[j][1] - x[i][1], dz = x[j][2] - x[i][2];
        if (dx * dx + dy * dy + dz * dz >= cutsq) continue;
        rij[3 * n] = dx;
        rij[3 * n + 1] = dy;
        rij[3 * n + 2] = dz;
        pair_i[n] = i;
        jatoms[n] = j;
        jelems[n] = jelem;
        jtags[n] = tag[j];
        n++;
        inside++;
      }
      iatoms[nl] = i;
      ielems[nl] = ielem;
      itags[nl] = tag[i];
      numneighs[nl] = inside;
      nl++;
    }
    nlistatoms = nl;
    npairs = n;
  }
};

}    // namespace alloykit_py

#endif
