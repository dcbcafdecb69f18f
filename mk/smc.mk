# smc: see the issue; this fragment appends to the variables of Makefile.am.
