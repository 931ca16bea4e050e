"""Data: the TFRecord schema, the sharded writer, converters and the tf.data input_fn."""
