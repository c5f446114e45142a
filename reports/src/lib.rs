//! Reports of meshsim runs and sweeps (issue 6, in progress).
