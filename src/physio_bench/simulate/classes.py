"""The scenario classes: what each one changes, as ranges of uniform draws.

A class is a physiological state, not a person: every subject of the ``scenarios`` (and
``training``) suite can be in several classes (see :mod:`physio_bench.simulate.plan`).
A subject's heart and breathing rates sit at its own quantile of each class's range,
so a subject with a fast heart is fast in every state. Imports nothing heavy.

Signatures (what a clinician would look for):

- ``normal_sinus``: 60-95 bpm, 12-18 breaths/min, P before every QRS, RSA and Mayer waves.
- ``sinus_tachycardia`` (105-140 bpm), ``sinus_bradycardia`` (40-55 bpm): sinus rhythm.
- ``irregular_rhythm``: atrial fibrillation: irregularly irregular RR (CV 0.15-0.3), no
  P waves, fibrillatory f-waves, pulse heights varying with RR (pulse deficit).
- ``atrial_flutter``: sawtooth F-waves at 240-320 /min, 2:1, 3:1 or 4:1 conduction
  (fixed, or variable 2:1/4:1 in 30 % of windows), no P waves.
- ``av_block``: second-degree AV block Mobitz I (Wenckebach 3:2, 4:3 or 5:4): PR grows
  beat by beat until a P wave is not conducted (a dropped QRS, a pause, no pulse).
- ``premature_ventricular``: 2-6 PVCs per window (AAMI V): early, wide bizarre QRS, no
  P, discordant T, compensatory pause, small or absent pulse.
- ``premature_atrial``: 2-6 PACs per window (AAMI S): early P' of another shape, normal
  QRS, non-compensatory pause.
- ``tachypnea`` (26-35 /min), ``bradypnea`` (6-9 /min).
- ``apnea``: one pause of 10-15 s, central (no effort) or obstructive (small efforts
  continue), with a bradycardic drift during it, a tachycardic overshoot and a larger
  recovery breath after it.
- ``hypovolemia``: compensated shock: tachycardia (110-140 bpm), low HRV (x0.2-0.4),
  tachypnea (22-30 /min) with shallow breaths, low pulse amplitude (x0.3-0.6) falling by
  10-30 % across the window, and a large respiratory pulse-amplitude variation (RIAV
  15-30 %, the PPG counterpart of pulse-pressure variation).
- ``stress_arousal``: 85-110 bpm, 16-22 /min, reduced HRV (x0.5-0.8), 4-7 SCRs, some EMG.
- ``motion_artifact``: normal physiology under motion: slow baseline swings and transients
  on ECG, PPG and RSP (0.5-1 x each channel's typical amplitude), 1-3 EMG bursts.
- ``heart_rate_ramp``/``heart_rate_step``: the heart rate moves by 25-45 bpm across the
  window (linear ramp; or a first-order step with the subject's 2-5 s time constant).
- ``resp_rate_ramp``/``resp_rate_step``: the breathing rate moves by 8-14 /min (ramp;
  or an idealised step: the first breath after it has the new length).
"""

from __future__ import annotations

from dataclasses import dataclass

Range = tuple[float, float]
HEART_RATE_LIMITS: Range = (40.0, 160.0)
RESP_RATE_LIMITS: Range = (6.0, 35.0)


@dataclass(frozen=True)
class ScenarioClass:
    """Ranges (uniform draws) that define one class; ``rhythm`` is ``sinus``, ``af``,
    ``flutter``, ``av_block``, ``pvc`` or ``pac``."""

    heart_rate_bpm: Range = (60, 95)
    resp_rate_bpm: Range = (12, 18)
    heart_rate_change_bpm: Range = (0, 0)
    resp_rate_change_bpm: Range = (0, 0)
    rhythm: str = "sinus"
    rr_interval_cv: Range = (0, 0)
    ectopic_count: Range = (0, 0)
    hrv_scale: Range = (1, 1)
    scr_number_count: Range = (0, 1)
    emg_burst_count: Range = (0, 0)
    apnea_s: Range = (0, 0)
    motion_amplitude_au: Range = (0, 0)
    pulse_amplitude_scale: Range = (1, 1)
    pulse_amplitude_decline: Range = (0, 0)
    riav_frac: Range | None = None
    tidal_scale: Range = (1, 1)

    def lowest_resp_rate_bpm(self) -> float:
        """The slowest breathing a window of this class can have (breaths/min)."""
        low = self.resp_rate_bpm[0] - self.resp_rate_change_bpm[1]
        return float(max(RESP_RATE_LIMITS[0], low))


SCENARIO_CLASSES: dict[str, ScenarioClass] = {
    "normal_sinus": ScenarioClass(),
    "sinus_tachycardia": ScenarioClass(heart_rate_bpm=(105, 140), resp_rate_bpm=(14, 20)),
    "sinus_bradycardia": ScenarioClass(heart_rate_bpm=(40, 55), resp_rate_bpm=(10, 16)),
    "irregular_rhythm": ScenarioClass(heart_rate_bpm=(80, 120), rhythm="af",
                                      rr_interval_cv=(0.15, 0.3)),
    "atrial_flutter": ScenarioClass(heart_rate_bpm=(240, 320), rhythm="flutter"),
    "av_block": ScenarioClass(heart_rate_bpm=(65, 100), rhythm="av_block"),
    "premature_ventricular": ScenarioClass(rhythm="pvc", ectopic_count=(2, 6)),
    "premature_atrial": ScenarioClass(rhythm="pac", ectopic_count=(2, 6)),
    "tachypnea": ScenarioClass(heart_rate_bpm=(70, 95), resp_rate_bpm=(26, 35)),
    "bradypnea": ScenarioClass(heart_rate_bpm=(55, 80), resp_rate_bpm=(6, 9)),
    "apnea": ScenarioClass(heart_rate_bpm=(60, 90), resp_rate_bpm=(14, 20), apnea_s=(10, 15)),
    "hypovolemia": ScenarioClass(
        heart_rate_bpm=(110, 140), resp_rate_bpm=(22, 30), hrv_scale=(0.2, 0.4),
        pulse_amplitude_scale=(0.3, 0.6), pulse_amplitude_decline=(0.1, 0.3),
        riav_frac=(0.15, 0.3), tidal_scale=(0.6, 0.8),
    ),
    "stress_arousal": ScenarioClass(
        heart_rate_bpm=(85, 110), resp_rate_bpm=(16, 22), hrv_scale=(0.5, 0.8),
        scr_number_count=(4, 7), emg_burst_count=(0, 1),
    ),
    "motion_artifact": ScenarioClass(motion_amplitude_au=(0.5, 1.0), emg_burst_count=(1, 3)),
    "heart_rate_ramp": ScenarioClass(heart_rate_bpm=(60, 100), heart_rate_change_bpm=(25, 45)),
    "heart_rate_step": ScenarioClass(heart_rate_bpm=(60, 100), heart_rate_change_bpm=(25, 45)),
    "resp_rate_ramp": ScenarioClass(heart_rate_bpm=(60, 90), resp_rate_bpm=(10, 20),
                                    resp_rate_change_bpm=(8, 14)),
    "resp_rate_step": ScenarioClass(heart_rate_bpm=(60, 90), resp_rate_bpm=(10, 20),
                                    resp_rate_change_bpm=(8, 14)),
}
#: For ``atrial_flutter`` the ``heart_rate_bpm`` range is the *atrial* (F-wave) rate.

#: One line per class: what to look for in its figure (and in the report's caption).
SIGNATURES: dict[str, str] = {
    "normal_sinus": "60-95 bpm, 12-18 breaths/min; a P wave before every QRS, constant PR; "
                    "RSA (faster beats in inspiration) and slow Mayer waves in the RR "
                    "intervals; R amplitude and PPG baseline follow the breathing.",
    "sinus_tachycardia": "Sinus rhythm at 105-140 bpm: short T-P segment, QT shortened by "
                         "Fridericia's law, P waves close to the preceding T.",
    "sinus_bradycardia": "Sinus rhythm at 40-55 bpm: long T-P segment, long QT, tall pulses "
                         "after long filling.",
    "irregular_rhythm": "Atrial fibrillation: irregularly irregular RR (CV 0.15-0.3), no P "
                        "waves, fibrillatory f-waves (4.5-8 Hz, wandering), pulse heights "
                        "varying with the preceding RR.",
    "atrial_flutter": "Sawtooth F waves at 240-320 /min instead of P waves; every 2nd, 3rd or "
                      "4th F wave conducts (fixed or variable block).",
    "av_block": "Second-degree AV block, Mobitz I: the PR interval lengthens beat by beat "
                "until a P wave is not followed by a QRS (no pulse, a pause).",
    "premature_ventricular": "2-6 PVCs (V): early, wide bizarre QRS without P wave, "
                             "discordant T, compensatory pause; small or absent pulse.",
    "premature_atrial": "2-6 PACs (S): early P' wave of another shape, narrow QRS, "
                        "non-compensatory pause; smaller pulse after the short RR.",
    "tachypnea": "Breathing at 26-35 /min with a normal heart rate.",
    "bradypnea": "Breathing at 6-9 /min: long breaths, strong RSA.",
    "apnea": "A 10-15 s pause in breathing (central: flat; obstructive: small efforts "
             "continue); the heart slows during it, then speeds up with a large recovery "
             "breath.",
    "hypovolemia": "Compensated shock: tachycardia, tachypnea with shallow breaths, low HRV, "
                   "small PPG pulses falling across the window with large respiratory "
                   "pulse-amplitude variation.",
    "stress_arousal": "85-110 bpm, 16-22 breaths/min, reduced HRV, 4-7 skin conductance "
                      "responses, some EMG.",
    "motion_artifact": "Normal physiology under motion: baseline swings and transients on "
                       "ECG, PPG and RSP, EMG bursts.",
    "heart_rate_ramp": "The heart rate moves by 25-45 bpm linearly across the window.",
    "heart_rate_step": "The heart rate steps by 25-45 bpm mid-window with a 2-5 s time "
                       "constant.",
    "resp_rate_ramp": "The breathing rate moves by 8-14 /min linearly across the window.",
    "resp_rate_step": "The breathing rate steps by 8-14 /min mid-window (next breath).",
}

RAMP_CLASSES = ("heart_rate_ramp", "resp_rate_ramp")
STEP_CLASSES = ("heart_rate_step", "resp_rate_step")

#: Label columns of a scenario window (each measured on the window's events).
SCENARIO_COLUMNS = [
    "heart_rate_bpm", "heart_rate_change_bpm", "resp_rate_bpm", "resp_rate_change_bpm",
    "change_time_s", "rr_interval_cv", "ectopic_beat_count", "apnea_duration_s",
    "pulse_amplitude_au", "pulse_amplitude_cv", "pulse_arrival_time_s",
    "scr_number_count", "burst_number_count",
]
#: Generator inputs of a scenario window, written as ``requested_<name>`` columns.
SCENARIO_REQUESTED = [
    "heart_rate_bpm", "heart_rate_change_bpm", "resp_rate_bpm", "resp_rate_change_bpm",
    "change_time_s", "rr_interval_cv", "ectopic_beat_count", "apnea_duration_s",
    "scr_number_count", "burst_number_count", "motion_amplitude_au", "hrv_scale",
    "pulse_amplitude_scale",
]


def dynamics_of(scenario_class: str) -> str:
    """``ramp``, ``step`` or ``steady``: how the rates behave inside a window of this class."""
    if scenario_class in RAMP_CLASSES:
        return "ramp"
    if scenario_class in STEP_CLASSES:
        return "step"
    return "steady"
