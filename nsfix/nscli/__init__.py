"""The NetScaler CLI configuration language: its words (`syntax`) and its meaning (`config`)."""
