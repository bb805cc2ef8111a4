"""The mock's CDN edge: it serves each service's assets by `Host` from its origins
(`server`), keeping copies in a bounded, normalised cache (`cache`), and applies purges,
invalidations, caching rules and restrictions as the contract states them."""
