"""`pars demo`: `run` builds the demo database and serves it (`batched` is its fast path,
`building` how far it has come), `data` says what each synthetic report and decision holds,
`sharing` plays the partner agencies fed under agreements."""

from pars.demo.run import run_demo

__all__ = ["run_demo"]
