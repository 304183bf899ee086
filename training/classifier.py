"""The evaluation classifier: a small CNN whose logits give class accuracy and whose penultimate
128 features give a Fréchet distance (the role Inception plays for FID, at MNIST scale)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

FEATURES = 128


def conv_bn(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class Classifier(nn.Module):
    def __init__(self, width=32, features=FEATURES, num_classes=10):
        super().__init__()
        self.body = nn.Sequential(
            conv_bn(1, width), conv_bn(width, width), nn.MaxPool2d(2),                 # 14x14
            conv_bn(width, 2 * width), conv_bn(2 * width, 2 * width), nn.MaxPool2d(2),  # 7x7
            conv_bn(2 * width, 4 * width), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(4 * width, features)
        self.drop = nn.Dropout(0.2)
        self.head = nn.Linear(features, num_classes)

    def forward(self, image):
        features = F.relu(self.fc(self.body(image)))
        return self.head(self.drop(features)), features


def random_shift(x, generator, max_pixels=2):
    """Per-image integer translation by up to max_pixels: generated digits are not always centred."""
    b = x.shape[0]
    shifts = torch.randint(-max_pixels, max_pixels + 1, (b, 2), generator=generator, device=x.device)
    padded = F.pad(x, (max_pixels,) * 4, value=-1.0)
    rows = (torch.arange(28, device=x.device)[None, :] + max_pixels - shifts[:, :1])  # [b, 28]
    cols = (torch.arange(28, device=x.device)[None, :] + max_pixels - shifts[:, 1:])
    out = padded[torch.arange(b, device=x.device)[:, None, None], 0, rows[:, :, None], cols[:, None, :]]
    return out[:, None]
