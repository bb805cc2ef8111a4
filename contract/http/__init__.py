"""HTTP, below every stage that speaks it: raw messages as the docs' samples write them
(`raw`), the ASGI helpers of the mock's app (`asgi`), the hardened HTTP/1.1 serving the proxy
and the edge share (`serving`: head and trailer limits counted as bytes arrive, Host rules,
request-target forms, 100-continue, in-order refusals, backpressure, room made at the
connection cap, the drain on stop) and the pooled client of the proxy's upstream and the
edge's origins (`upstream`)."""
