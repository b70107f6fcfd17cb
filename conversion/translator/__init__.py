"""The two-step L1000 -> RNA-seq translator (Jeon et al., BMC Bioinformatics 23:374, 2022).

Step 1 is a CycleGAN on the 978 landmark genes (generator G maps L1000 to
RNA-seq-like landmark values); step 2 is a fully connected extrapolator from
the landmark genes to all output genes, trained on RNA-seq alone. Everything in
this package imports only numpy, torch, pandas, h5py and the data layer's
format readers, never Django.
"""
