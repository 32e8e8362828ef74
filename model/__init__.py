"""Korean review sentiment model: training, export, quantisation, evaluation, publishing.

Each step is a module run as ``python -m model.<step>``; see ``model/README.md``.
Importing this package is cheap: heavy libraries (torch, onnx) load only inside steps.
"""
