package io.vae4j.tiles.plan;

/** A rectangle of pixels: rows {@code [y, y + height)}, columns {@code [x, x + width)}. */
public record Region(int y, int x, int height, int width) {

    public Region {
        if (height < 0 || width < 0) {
            throw new IllegalArgumentException("negative region size " + height + "x" + width);
        }
    }

    public int yEnd() {
        return y + height;
    }

    public int xEnd() {
        return x + width;
    }

    public long area() {
        return (long) height * width;
    }

    public boolean contains(int py, int px) {
        return py >= y && py < y + height && px >= x && px < x + width;
    }

    public boolean contains(Region r) {
        return r.y >= y && r.x >= x && r.yEnd() <= yEnd() && r.xEnd() <= xEnd();
    }

    /** This region with every coordinate multiplied by {@code f} (latent to image pixels). */
    public Region scale(int f) {
        return new Region(Math.multiplyExact(y, f), Math.multiplyExact(x, f), Math.multiplyExact(height, f),
                Math.multiplyExact(width, f));
    }

    /** This region relative to {@code origin}'s top-left corner. */
    public Region relativeTo(Region origin) {
        return new Region(y - origin.y, x - origin.x, height, width);
    }

    @Override
    public String toString() {
        return "[" + y + "+" + height + ", " + x + "+" + width + "]";
    }
}
