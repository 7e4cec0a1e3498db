"""Pure array maths: forward/backward pairs and output-size rules. No Tensor here."""
