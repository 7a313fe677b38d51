"""Synthesises a short tune from note names into a WAV file (stdlib `wave`)."""

import math
import re
import struct
import tempfile
import wave

from cog import BaseRunner, Input, Path

RATE = 22050
NOTE = re.compile(r"^([A-Ga-g])([#b]?)(-?\d)$")
SEMITONES = {"C": -9, "D": -7, "E": -5, "F": -4, "G": -2, "A": 0, "B": 2}


def frequency(note):
    """'A4' -> 440.0; 'C#5', 'Bb3'; 'R' or '-' is a rest (0 Hz)."""
    if note in ("R", "r", "-"):
        return 0.0
    match = NOTE.match(note.strip())
    if not match:
        raise ValueError(
            f"{note!r} is not a note: use names like C4, F#3, Bb5, or R for a rest"
        )
    letter, accidental, octave = match.groups()
    semitone = SEMITONES[letter.upper()] + {"#": 1, "b": -1, "": 0}[accidental]
    return 440.0 * 2 ** ((semitone + 12 * (int(octave) - 4)) / 12)


def oscillator(waveform, phase):
    x = phase % 1.0
    if waveform == "sine":
        return math.sin(2 * math.pi * x)
    if waveform == "square":
        return 1.0 if x < 0.5 else -1.0
    if waveform == "triangle":
        return 4 * x - 1 if x < 0.5 else 3 - 4 * x
    return 2 * x - 1  # sawtooth


class Predictor(BaseRunner):
    def run(
        self,
        notes: list[str] = Input(
            description="Note names in order, e.g. C4 E4 G4 C5; R is a rest"
        ),
        tempo: int = Input(
            description="Beats per minute (one note per beat)",
            default=160,
            ge=30,
            le=400,
        ),
        waveform: str = Input(
            description="Oscillator shape",
            default="square",
            choices=["sine", "square", "triangle", "sawtooth"],
        ),
        volume: float = Input(description="Loudness, 0 to 1", default=0.5, ge=0, le=1),
    ) -> Path:
        beat = 60.0 / tempo
        samples = bytearray()
        for note in notes:
            freq = frequency(note)
            count = int(beat * RATE)
            attack, release = int(0.01 * RATE), int(0.05 * RATE)
            for i in range(count):
                # A short attack/release envelope avoids clicks between notes.
                env = min(
                    1.0,
                    i / attack if attack else 1.0,
                    (count - i) / release if release else 1.0,
                )
                value = oscillator(waveform, freq * i / RATE) if freq else 0.0
                samples += struct.pack("<h", int(32767 * 0.8 * volume * env * value))
        print(f"{len(notes)} notes, {len(samples) // 2 / RATE:.2f} s at {tempo} bpm")
        out = Path(tempfile.mkdtemp(prefix="chiptune-")) / "tune.wav"
        with wave.open(str(out), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(RATE)
            wav.writeframes(bytes(samples))
        return out
