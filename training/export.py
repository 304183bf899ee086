"""ONNX export with the project's fixed signature; diffusion weights stored as fp16 inside the graph.

Only weight matrices (the weight input of Conv, Gemm and MatMul, the table of an embedding Gather)
become fp16, each followed by a Cast to float32: IO and arithmetic stay float32, and the constants
the exporter folded elsewhere (the timestep-embedding frequencies, shapes, biases) keep full precision.
"""
import inspect
import os

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

OPSET = 17


def _export(model, args, path, input_names, output_names):
    kwargs = dict(input_names=input_names, output_names=output_names, opset_version=OPSET,
                  do_constant_folding=True,
                  dynamic_axes={n: {0: 'batch'} for n in input_names + output_names})
    if 'dynamo' in inspect.signature(torch.onnx.export).parameters:
        kwargs['dynamo'] = False  # the TorchScript exporter: stable names, dynamic batch, opset 17
    with torch.no_grad():
        torch.onnx.export(model, args, path, **kwargs)


WEIGHT_SLOTS = {'Conv': 1, 'Gemm': 1, 'MatMul': 1, 'Gather': 0}


def weights_to_fp16(model_proto):
    graph = model_proto.graph
    weights = {node.input[WEIGHT_SLOTS[node.op_type]] for node in graph.node
               if node.op_type in WEIGHT_SLOTS and len(node.input) > WEIGHT_SLOTS[node.op_type]}
    kept, casts = [], []
    for init in graph.initializer:
        if init.data_type == onnx.TensorProto.FLOAT and init.name in weights and len(init.dims) >= 2:
            half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name + '__fp16')
            kept.append(half)
            casts.append(helper.make_node('Cast', [half.name], [init.name], to=onnx.TensorProto.FLOAT,
                                          name=init.name + '__cast'))
        else:
            kept.append(init)
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    return len(casts)


def save_onnx(model, args, path, input_names, output_names, metadata, fp16=True):
    tmp = path + '.tmp'
    _export(model, args, tmp, input_names, output_names)
    proto = onnx.load(tmp)
    converted = weights_to_fp16(proto) if fp16 else 0
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, tmp)
    os.replace(tmp, path)
    return converted


def export_diffusion(model, path, metadata):
    model = model.eval().float().cpu()
    args = (torch.randn(2, 1, 28, 28), torch.tensor([10.0, 900.0]), torch.tensor([3, model.num_classes]))
    return save_onnx(model, args, path, ['sample', 'timestep', 'class_labels'], ['out_sample'], metadata)


def export_classifier(net, path, metadata):
    # float32 weights: the file is small anyway, and the metric network should match PyTorch exactly
    net = net.eval().float().cpu()
    return save_onnx(net, (torch.randn(2, 1, 28, 28),), path, ['image'], ['logits', 'features'], metadata, fp16=False)
