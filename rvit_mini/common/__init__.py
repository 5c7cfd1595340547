"""What every layer of the library may use: argument checks, the progress bar, files written
whole, and text made safe to print."""
