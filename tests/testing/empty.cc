// Keeps topo_testing non-empty before any helper exists.
