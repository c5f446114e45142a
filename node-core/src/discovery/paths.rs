//! Path finding on a node's own view of the network (being written).
