//! Static complexity analysis (work in progress).
