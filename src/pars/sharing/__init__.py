"""What may leave PARS, to whom, and when: the field catalogue, the jurisdiction policy, agreements
and the one projection function every disclosure goes through."""
