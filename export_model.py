"""Export a trained tf_crnn model dir to a serving SavedModel; see `python export_model.py --help`
(the command `tf-crnn export`: tf_crnn/cli/export.py)."""

from tf_crnn.cli.export import main

if __name__ == "__main__":
    main()
