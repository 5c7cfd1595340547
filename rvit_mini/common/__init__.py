"""What every layer of the library may use: argument checks and the progress bar."""
