"""Ligand validation with RDKit: every row checked, every problem reported with its row.
policy.py holds LIGAND_POLICY (what is accepted, warned about or refused, and the messages),
smiles.py checks one string against it, ligands.py validates a batch's rows."""
