# Keras guide "Transfer learning & fine-tuning" (fchollet; keras-io
# guides/transfer_learning.py, Keras 3 version, last modified 2023/06/25), its code cells in
# order with only the imports changed and the workload shrunk (lines marked "shrunk:").
# Changed on purpose (lines marked "changed:"): the guide reads Kaggle's cats vs dogs through
# tensorflow_datasets and tf.data, which svertka does not read; here the cats (label 0) and
# dogs (label 1) of CIFAR-10 from the shared data stand in, as NumPy arrays batched by a
# keras.utils.PyDataset; and keras.applications.Xception with ImageNet weights is replaced by
# svertka.applications.ResNet50 with weights=None (no pretrained Xception here) on 32x32
# images. Run it with: python tests/keras_guides/run.py transfer_learning
# ruff: noqa

# %% [1] Setup
import numpy as np
import svertka as keras
from svertka import layers
# unsupported: tensorflow_datasets (cats vs dogs comes from CIFAR-10 below)
# import tensorflow_datasets as tfds
import matplotlib.pyplot as plt

# %% [2] Freezing layers: understanding the trainable attribute
layer = keras.layers.Dense(3)
layer.build((None, 4))  # Create the weights

print("weights:", len(layer.weights))
print("trainable_weights:", len(layer.trainable_weights))
print("non_trainable_weights:", len(layer.non_trainable_weights))

# %% [3] Example: the BatchNormalization layer has 2 trainable weights
layer = keras.layers.BatchNormalization()
layer.build((None, 4))  # Create the weights

print("weights:", len(layer.weights))
print("trainable_weights:", len(layer.trainable_weights))
print("non_trainable_weights:", len(layer.non_trainable_weights))

# %% [4] Example: setting trainable to False
layer = keras.layers.Dense(3)
layer.build((None, 4))  # Create the weights
layer.trainable = False  # Freeze the layer

print("weights:", len(layer.weights))
print("trainable_weights:", len(layer.trainable_weights))
print("non_trainable_weights:", len(layer.non_trainable_weights))

# %% [5] When a trainable weight becomes non-trainable
# Make a model with 2 layers
layer1 = keras.layers.Dense(3, activation="relu")
layer2 = keras.layers.Dense(3, activation="sigmoid")
model = keras.Sequential([keras.Input(shape=(3,)), layer1, layer2])

# Freeze the first layer
layer1.trainable = False

# Keep a copy of the weights of layer1 for later reference
initial_layer1_weights_values = layer1.get_weights()

# Train the model
model.compile(optimizer="adam", loss="mse")
model.fit(np.random.random((2, 3)), np.random.random((2, 3)))

# Check that the weights of layer1 have not changed during training
final_layer1_weights_values = layer1.get_weights()
np.testing.assert_allclose(
    initial_layer1_weights_values[0], final_layer1_weights_values[0]
)
np.testing.assert_allclose(
    initial_layer1_weights_values[1], final_layer1_weights_values[1]
)

# %% [6] Recursive setting of the trainable attribute
inner_model = keras.Sequential(
    [
        keras.Input(shape=(3,)),
        keras.layers.Dense(3, activation="relu"),
        keras.layers.Dense(3, activation="relu"),
    ]
)

model = keras.Sequential(
    [
        keras.Input(shape=(3,)),
        inner_model,
        keras.layers.Dense(3, activation="sigmoid"),
    ]
)

model.trainable = False  # Freeze the outer model

assert inner_model.trainable == False  # All layers in `model` are now frozen
assert inner_model.layers[0].trainable == False  # `trainable` is propagated recursively

# %% [7] Getting the data
# unsupported: tensorflow_datasets and tf.data; changed: CIFAR-10's cats and dogs as arrays
# tfds.disable_progress_bar()
#
# train_ds, validation_ds, test_ds = tfds.load(
#     "cats_vs_dogs",
#     # Reserve 10% for validation and 10% for test
#     split=["train[:40%]", "train[40%:50%]", "train[50%:60%]"],
#     as_supervised=True,  # Include labels
# )
#
# print(f"Number of training samples: {train_ds.cardinality()}")
# print(f"Number of validation samples: {validation_ds.cardinality()}")
# print(f"Number of test samples: {test_ds.cardinality()}")
(images, labels), _ = keras.datasets.cifar10.load_data()
labels = labels.reshape(-1)
keep = (labels == 3) | (labels == 5)  # CIFAR-10's class 3 is "cat", class 5 is "dog"
images, labels = images[keep].astype("float32"), (labels[keep] == 5).astype("float32")
train_ds = (images[:128], labels[:128])  # shrunk: 40% of cats vs dogs' 23,262 images
validation_ds = (images[128:192], labels[128:192])
test_ds = (images[192:256], labels[192:256])
print(f"Number of training samples: {len(train_ds[0])}")
print(f"Number of validation samples: {len(validation_ds[0])}")
print(f"Number of test samples: {len(test_ds[0])}")

# %% [8] These are the first 9 images in the training dataset
plt.figure(figsize=(10, 10))
# changed: train_ds.take(9) -> the first 9 (image, label) pairs of the arrays
for i, (image, label) in enumerate(zip(train_ds[0][:9], train_ds[1][:9])):
    ax = plt.subplot(3, 3, i + 1)
    plt.imshow(image.astype("uint8"))  # changed: tfds gives uint8 images, these are float
    plt.title(int(label))
    plt.axis("off")

# %% [9] Standardizing the data
resize_fn = keras.layers.Resizing(32, 32)  # shrunk: 150x150

# changed: tf.data's map -> the layer applied to the arrays
# train_ds = train_ds.map(lambda x, y: (resize_fn(x), y))
# validation_ds = validation_ds.map(lambda x, y: (resize_fn(x), y))
# test_ds = test_ds.map(lambda x, y: (resize_fn(x), y))
train_ds = (np.asarray(resize_fn(train_ds[0])), train_ds[1])
validation_ds = (np.asarray(resize_fn(validation_ds[0])), validation_ds[1])
test_ds = (np.asarray(resize_fn(test_ds[0])), test_ds[1])

# %% [10] Using random data augmentation
augmentation_layers = [
    layers.RandomFlip("horizontal"),
    layers.RandomRotation(0.1),
]


def data_augmentation(x):
    for layer in augmentation_layers:
        x = layer(x)
    return x


# changed: tf.data's map -> the augmentation applied to the arrays
# train_ds = train_ds.map(lambda x, y: (data_augmentation(x), y))
train_ds = (np.asarray(data_augmentation(train_ds[0])), train_ds[1])

# %% [11] Let's batch the data and use prefetching
# unsupported: tf.data; changed: a keras.utils.PyDataset batches the arrays
# from tensorflow import data as tf_data

batch_size = 64


class Batches(keras.utils.PyDataset):
    def __init__(self, arrays, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y = arrays
        self.batch_size = batch_size

    def __len__(self):
        return int(np.ceil(len(self.x) / self.batch_size))

    def __getitem__(self, idx):
        part = slice(idx * self.batch_size, (idx + 1) * self.batch_size)
        return self.x[part], self.y[part]


# train_ds = train_ds.batch(batch_size).prefetch(tf_data.AUTOTUNE).cache()
# validation_ds = validation_ds.batch(batch_size).prefetch(tf_data.AUTOTUNE).cache()
# test_ds = test_ds.batch(batch_size).prefetch(tf_data.AUTOTUNE).cache()
train_ds = Batches(train_ds, batch_size)
validation_ds = Batches(validation_ds, batch_size)
test_ds = Batches(test_ds, batch_size)

# %% [12] Let's visualize what the first image of the first batch looks like
# changed: train_ds.take(1) -> the first batch
for images, labels in [train_ds[0]]:
    plt.figure(figsize=(10, 10))
    first_image = images[0]
    for i in range(9):
        ax = plt.subplot(3, 3, i + 1)
        augmented_image = data_augmentation(np.expand_dims(first_image, 0))
        plt.imshow(np.array(augmented_image[0]).astype("int32"))
        plt.title(int(labels[0]))
        plt.axis("off")

# %% [13] Build a model
# changed: ResNet50 without pretrained weights in place of Xception with ImageNet's
# base_model = keras.applications.Xception(
#     weights="imagenet",  # Load weights pre-trained on ImageNet.
#     input_shape=(150, 150, 3),
#     include_top=False,
# )  # Do not include the ImageNet classifier at the top.
base_model = keras.applications.ResNet50(
    weights=None,
    input_shape=(32, 32, 3),  # shrunk: 150x150
    include_top=False,
)  # Do not include the ImageNet classifier at the top.

# Freeze the base_model
base_model.trainable = False

# Create new model on top
inputs = keras.Input(shape=(32, 32, 3))  # shrunk: 150x150

# Pre-trained Xception weights requires that input be scaled
# from (0, 255) to a range of (-1., +1.), the rescaling layer
# outputs: `(inputs * scale) + offset`
scale_layer = keras.layers.Rescaling(scale=1 / 127.5, offset=-1)
x = scale_layer(inputs)

# The base model contains batchnorm layers. We want to keep them in inference mode
# when we unfreeze the base model for fine-tuning, so we make sure that the
# base_model is running in inference mode here.
x = base_model(x, training=False)
x = keras.layers.GlobalAveragePooling2D()(x)
x = keras.layers.Dropout(0.2)(x)  # Regularize with dropout
outputs = keras.layers.Dense(1)(x)
model = keras.Model(inputs, outputs)

model.summary(show_trainable=True)

# %% [14] Train the top layer
model.compile(
    optimizer=keras.optimizers.Adam(),
    loss=keras.losses.BinaryCrossentropy(from_logits=True),
    metrics=[keras.metrics.BinaryAccuracy()],
)

epochs = 1  # shrunk: 2
print("Fitting the top layer of the model")
model.fit(train_ds, epochs=epochs, validation_data=validation_ds)

# %% [15] Do a round of fine-tuning of the entire model
# Unfreeze the base_model. Note that it keeps running in inference mode
# since we passed `training=False` when calling it. This means that
# the batchnorm layers will not update their batch statistics.
# This prevents the batchnorm layers from undoing all the training
# we've done so far.
base_model.trainable = True
model.summary(show_trainable=True)

model.compile(
    optimizer=keras.optimizers.Adam(1e-5),  # Low learning rate
    loss=keras.losses.BinaryCrossentropy(from_logits=True),
    metrics=[keras.metrics.BinaryAccuracy()],
)

epochs = 1
print("Fitting the end-to-end model")
model.fit(train_ds, epochs=epochs, validation_data=validation_ds)

# %% [16] Let's evaluate the model on the test dataset
print("Test dataset evaluation")
model.evaluate(test_ds)
