package io.vae4j.backend;

/**
 * Shape of a square 2-d convolution: kernel edge, stride and the zero padding on each side. Padding is per side
 * because the ldm encoder's downsample pads only right and bottom.
 */
public record ConvGeometry(int kernel, int stride, int padTop, int padLeft, int padBottom, int padRight) {

    public ConvGeometry {
        if (kernel < 1 || stride < 1 || padTop < 0 || padLeft < 0 || padBottom < 0 || padRight < 0) {
            throw new IllegalArgumentException("bad convolution geometry");
        }
    }

    /** 3x3, stride 1, padding 1: the shape of almost every convolution in a VAE. */
    public static ConvGeometry same3x3() {
        return new ConvGeometry(3, 1, 1, 1, 1, 1);
    }

    /** 1x1, stride 1: shortcuts, quant convs, attention projections. */
    public static ConvGeometry pointwise() {
        return new ConvGeometry(1, 1, 0, 0, 0, 0);
    }

    /** The ldm encoder's Downsample: pad right/bottom by one, then 3x3 stride 2 without padding. */
    public static ConvGeometry ldmDownsample() {
        return new ConvGeometry(3, 2, 0, 0, 1, 1);
    }

    /** 3x3 stride 2 padding 1 on every side (TAESD). */
    public static ConvGeometry strided3x3() {
        return new ConvGeometry(3, 2, 1, 1, 1, 1);
    }

    public static ConvGeometry of(int kernel) {
        return kernel == 1 ? pointwise() : new ConvGeometry(kernel, 1, kernel / 2, kernel / 2, kernel / 2, kernel / 2);
    }

    public int outHeight(int h) {
        return (h + padTop + padBottom - kernel) / stride + 1;
    }

    public int outWidth(int w) {
        return (w + padLeft + padRight - kernel) / stride + 1;
    }
}
