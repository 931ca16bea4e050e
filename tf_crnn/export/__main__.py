"""`python -m tf_crnn.export`: the command `tf-crnn export` (tf_crnn/cli/export.py)."""

if __name__ == "__main__":
    from tf_crnn.cli.export import main

    main(prog="python -m tf_crnn.export")
