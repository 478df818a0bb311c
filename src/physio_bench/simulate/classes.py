"""The scenario classes: what each one changes, as ranges of uniform draws.

A class is a physiological state, not a person: every subject of the ``scenarios`` (and
``training``) suite can be in several classes (see :mod:`physio_bench.simulate.plan`).
A subject's heart and breathing rates sit at its own quantile of each class's range,
so a subject with a fast heart is fast in every state. Imports nothing heavy.

Breathing is spontaneous unless a class says otherwise: the people the benchmark's
real recordings come from (ambulatory Holter, ward and ICU monitoring) breathe on their
own, and the direction of the respiratory pulse variation depends on it (see
``hypovolemia``). Mechanical ventilation is its own class.

Signatures (what a clinician would look for):

- ``normal_sinus``: 60-95 bpm, 12-18 breaths/min, P before every QRS, RSA and Mayer waves;
  like every class (unless it says otherwise), 0-2 non-specific skin conductance
  responses (at rest 1-3 per minute: Boucsein 2012) and 0-2 short bursts of muscle
  activity (postural adjustments) per window.
- ``sinus_tachycardia`` (105-140 bpm), ``sinus_bradycardia`` (40-55 bpm): sinus rhythm.
- ``irregular_rhythm``: atrial fibrillation: irregularly irregular RR (CV 0.15-0.3), no
  P waves, fibrillatory f-waves, pulse heights varying with RR (pulse deficit).
- ``atrial_flutter``: F waves at 240-320 /min with a slow descent and a faster rise
  (no isoelectric baseline), 2:1 (60 %), 4:1 (35 %) or rarely 3:1 conduction, or
  variable conduction in 30 % of windows; no P waves.
- ``av_block``: second-degree AV block Mobitz I (Wenckebach 3:2, 4:3 or 5:4): PR grows
  beat by beat until a P wave is not conducted (a dropped QRS, a pause, no pulse).
- ``av_block_mobitz2``: second-degree AV block Mobitz II (3:2, 4:3 or 5:4): a P wave is
  blocked without any PR prolongation; the PR before and after the pause is the same
  (Barold & Hayes 2001, Mayo Clin Proc 76:44).
- ``av_block_complete``: third-degree AV block: P waves at the sinus rate (60-95 bpm,
  with RSA) and a slower, regular escape rhythm independent of them (junctional
  40-55 bpm with a narrow QRS, or ventricular 25-40 bpm with a wide QRS, half each):
  PR intervals wander; the pulse is larger when a P wave happens to precede the QRS
  (atrial kick, 15-25 % of filling).
- ``premature_ventricular``: 2-6 PVCs per window (AAMI V): early, wide bizarre QRS, no
  P, discordant T, compensatory pause, small or absent pulse.
- ``premature_atrial``: 2-6 PACs per window (AAMI S): early P' of another shape (at
  least half the sinus P's size, upright or inverted, often on the preceding T), normal
  QRS, non-compensatory pause.
- ``tachypnea`` (26-35 /min), ``bradypnea`` (6-9 /min).
- ``apnea``: one pause of 10-15 s, central, obstructive or mixed (AASM: Berry et al.
  2012, J Clin Sleep Med 8:597); ``central_apnea``: no effort during the pause;
  ``obstructive_apnea``: efforts against the closed airway continue and grow
  (paradoxical ribcage motion); each with a bradycardic drift during the pause and a
  tachycardic surge building over several beats after it (Guilleminault et al. 1984,
  Am J Cardiol 52:490), and a larger recovery breath.
- ``hypovolemia``: compensated hypovolemic shock, breathing spontaneously: tachycardia
  (105-135 bpm), low HRV (x0.3-0.6), tachypnea (20-28 /min) with shallower breaths
  (x0.7-0.9),
  smaller pulses (x0.55-0.85: peripheral vasoconstriction) and a larger respiratory
  pulse-amplitude variation (peak-to-peak 12-25 % of the pulse, against 4-12 % at rest)
  in the direction of pulsus paradoxus: pulses
  shrink while pleural pressure falls in inspiration (Hamzaoui et al. 2013, Eur Respir
  J 42:1696); the pulse arrival time swings 2-3 x more with breathing.
- ``hypovolemia_ventilated``: the same shock under volume-controlled ventilation:
  ventilator breaths at a set rate (14-20 /min, no jitter, 0.9-1.2 x the subject's own
  tidal volume: 6-8 mL/kg predicted body weight, linear inspiration over 30-36 % of the
  cycle and passive expiration with a 0.4-0.8 s time constant), tachycardia
  (100-130 bpm), very low HRV, small pulses, and a pulse-amplitude variation of 15-30 %
  in the opposite direction: pulses are largest at end-inspiration and smallest in
  expiration (reversed pulsus paradoxus, the basis of pulse-pressure and
  pleth-variability indices: Michard 2005, Anesthesiology 103:419; Cannesson et al.
  2005, Crit Care 9:R562).
- ``stress_arousal``: 85-110 bpm, 16-22 /min, reduced HRV (x0.5-0.8), 3-6 SCRs on a
  tonic skin conductance level raised by 1-3 uS and rising 0.005-0.02 uS/s (tonic and
  phasic electrodermal activity both rise with sympathetic arousal: Boucsein 2012,
  *Electrodermal Activity*, 2nd ed.; Dawson, Schell & Filion 2017), 1-3 EMG bursts.
- ``motion_artifact``: normal physiology under body movement: 2-5 movement episodes
  that reach every sensor at once, each sensor with the coupling of its site
  (fingertip PPG most, finger EDA least), and an EMG burst of the moving muscle with
  each movement (no other EMG bursts).
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
    ``flutter``, ``av_block`` (Mobitz I), ``mobitz2``, ``complete_block``, ``pvc`` or
    ``pac``; ``breathing`` is ``spontaneous`` or ``ventilated``; ``apnea_kinds`` are the
    apnea types a window of the class draws from."""

    heart_rate_bpm: Range = (60, 95)
    resp_rate_bpm: Range = (12, 18)
    heart_rate_change_bpm: Range = (0, 0)
    resp_rate_change_bpm: Range = (0, 0)
    rhythm: str = "sinus"
    rr_interval_cv: Range = (0, 0)
    ectopic_count: Range = (0, 0)
    hrv_scale: Range = (1, 1)
    scr_number_count: Range = (0, 2)
    emg_burst_count: Range = (0, 2)
    apnea_s: Range = (0, 0)
    motion_amplitude_au: Range = (0, 0)
    pulse_amplitude_scale: Range = (1, 1)
    pulse_amplitude_decline: Range = (0, 0)
    riav_frac: Range | None = None
    tidal_scale: Range = (1, 1)
    apnea_kinds: tuple[str, ...] = ("central", "obstructive", "mixed")
    breathing: str = "spontaneous"
    ventilator_tidal_scale: Range = (0.9, 1.2)
    arrival_resp_scale: Range = (1, 1)
    eda_tonic_rise_us: Range = (0, 0)
    eda_drift_us_per_s: Range = (-0.01, 0.01)
    motion_episodes: Range = (2, 5)

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
    "av_block_mobitz2": ScenarioClass(heart_rate_bpm=(65, 100), rhythm="mobitz2"),
    "av_block_complete": ScenarioClass(heart_rate_bpm=(60, 95), rhythm="complete_block"),
    "premature_ventricular": ScenarioClass(rhythm="pvc", ectopic_count=(2, 6)),
    "premature_atrial": ScenarioClass(rhythm="pac", ectopic_count=(2, 6)),
    "tachypnea": ScenarioClass(heart_rate_bpm=(70, 95), resp_rate_bpm=(26, 35)),
    "bradypnea": ScenarioClass(heart_rate_bpm=(55, 80), resp_rate_bpm=(6, 9)),
    "apnea": ScenarioClass(heart_rate_bpm=(60, 90), resp_rate_bpm=(14, 20), apnea_s=(10, 15)),
    "central_apnea": ScenarioClass(heart_rate_bpm=(60, 90), resp_rate_bpm=(14, 20),
                                   apnea_s=(10, 15), apnea_kinds=("central",)),
    "obstructive_apnea": ScenarioClass(heart_rate_bpm=(60, 90), resp_rate_bpm=(14, 20),
                                       apnea_s=(10, 15), apnea_kinds=("obstructive",)),
    "hypovolemia": ScenarioClass(
        heart_rate_bpm=(105, 135), resp_rate_bpm=(20, 28), hrv_scale=(0.3, 0.6),
        pulse_amplitude_scale=(0.55, 0.85), pulse_amplitude_decline=(0.0, 0.1),
        riav_frac=(0.12, 0.25), tidal_scale=(0.7, 0.9), arrival_resp_scale=(2, 3),
    ),
    "hypovolemia_ventilated": ScenarioClass(
        heart_rate_bpm=(100, 130), resp_rate_bpm=(14, 20), hrv_scale=(0.15, 0.35),
        pulse_amplitude_scale=(0.55, 0.85), pulse_amplitude_decline=(0.0, 0.1),
        riav_frac=(0.15, 0.30), arrival_resp_scale=(2, 3), breathing="ventilated",
    ),
    "stress_arousal": ScenarioClass(
        heart_rate_bpm=(85, 110), resp_rate_bpm=(16, 22), hrv_scale=(0.5, 0.8),
        scr_number_count=(3, 6), emg_burst_count=(1, 3), eda_tonic_rise_us=(1, 3),
        eda_drift_us_per_s=(0.005, 0.02),
    ),
    "motion_artifact": ScenarioClass(motion_amplitude_au=(0.5, 1.0), emg_burst_count=(0, 0)),
    "heart_rate_ramp": ScenarioClass(heart_rate_bpm=(60, 100), heart_rate_change_bpm=(25, 45)),
    "heart_rate_step": ScenarioClass(heart_rate_bpm=(60, 100), heart_rate_change_bpm=(25, 45)),
    "resp_rate_ramp": ScenarioClass(heart_rate_bpm=(60, 90), resp_rate_bpm=(10, 20),
                                    resp_rate_change_bpm=(8, 14)),
    "resp_rate_step": ScenarioClass(heart_rate_bpm=(60, 90), resp_rate_bpm=(10, 20),
                                    resp_rate_change_bpm=(8, 14)),
}
#: For ``atrial_flutter`` the ``heart_rate_bpm`` range is the *atrial* (F-wave) rate; for
#: the AV blocks the sinus (P-wave) rate.
#: Escape rhythms of complete AV block (bpm): junctional (narrow QRS) and ventricular
#: (wide QRS, AAMI V).
JUNCTIONAL_ESCAPE_BPM: Range = (40, 55)
VENTRICULAR_ESCAPE_BPM: Range = (25, 40)

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
    "atrial_flutter": "F waves at 240-320 /min instead of P waves, a sawtooth with a slow "
                      "descent and a faster rise; every 2nd (or 4th, rarely 3rd) F wave "
                      "conducts, or the block varies from beat to beat.",
    "av_block": "Second-degree AV block, Mobitz I: the PR interval lengthens beat by beat "
                "until a P wave is not followed by a QRS (no pulse, a pause).",
    "av_block_mobitz2": "Second-degree AV block, Mobitz II: every 3rd-5th P wave is blocked "
                        "without warning; the PR interval is the same before and after the "
                        "pause.",
    "av_block_complete": "Complete AV block: P waves march through at the sinus rate while a "
                         "slower, regular escape rhythm (narrow junctional or wide "
                         "ventricular QRS) beats independently; PR intervals wander.",
    "premature_ventricular": "2-6 PVCs (V): early, wide bizarre QRS without P wave, "
                             "discordant T, compensatory pause; small or absent pulse.",
    "premature_atrial": "2-6 PACs (S): early P' wave of another shape and size (upright or "
                        "inverted, often on the preceding T), narrow QRS, non-compensatory "
                        "pause; smaller pulse after the short RR.",
    "tachypnea": "Breathing at 26-35 /min with a normal heart rate.",
    "bradypnea": "Breathing at 6-9 /min: long breaths, strong RSA.",
    "apnea": "A 10-15 s breathing pause (central, obstructive or mixed); the heart slows "
             "during it, then speeds up over several beats with a large recovery breath.",
    "central_apnea": "A 10-15 s pause without any breathing effort: the RSP trace is flat; "
                     "bradycardic drift, then a tachycardic surge and a large recovery "
                     "breath.",
    "obstructive_apnea": "A 10-15 s pause in airflow with continued, growing efforts against "
                         "the closed airway (paradoxical ribcage dips on the RSP trace); "
                         "bradycardic drift, then a tachycardic surge.",
    "hypovolemia": "Compensated shock, breathing spontaneously: tachycardia, tachypnea with "
                   "shallower breaths, low HRV, small PPG pulses that shrink in each "
                   "inspiration (pulsus paradoxus direction), PAT swinging with breathing.",
    "hypovolemia_ventilated": "Compensated shock under volume-controlled ventilation: "
                              "regular ventilator breaths (linear inspiration, passive "
                              "expiration), tachycardia, very low HRV, small pulses that "
                              "grow in each inspiration and shrink in expiration.",
    "stress_arousal": "85-110 bpm, 16-22 breaths/min, reduced HRV, a raised and rising skin "
                      "conductance level with 3-6 responses, 1-3 EMG bursts.",
    "motion_artifact": "Normal physiology under body movement: each movement shows in every "
                       "channel at once (PPG most, EDA least), with EMG bursts.",
    "heart_rate_ramp": "The heart rate moves by 25-45 bpm linearly across the window.",
    "heart_rate_step": "The heart rate steps by 25-45 bpm mid-window with a 2-5 s time "
                       "constant.",
    "resp_rate_ramp": "The breathing rate moves by 8-14 /min linearly across the window.",
    "resp_rate_step": "The breathing rate steps by 8-14 /min mid-window (next breath).",
}

RAMP_CLASSES = ("heart_rate_ramp", "resp_rate_ramp")
STEP_CLASSES = ("heart_rate_step", "resp_rate_step")

#: Label columns of a scenario window (each measured on the window's events; floats).
SCENARIO_COLUMNS = [
    "heart_rate_bpm", "heart_rate_change_bpm", "resp_rate_bpm", "resp_rate_change_bpm",
    "change_time_s", "rr_interval_cv", "ectopic_beat_count", "apnea_duration_s",
    "pulse_amplitude_au", "pulse_amplitude_cv", "pulse_arrival_time_s",
    "scr_number_count", "burst_number_count",
    "pause_number_count", "atrial_rate_bpm", "av_conduction_ratio", "blocked_p_wave_count",
    "pr_interval_s", "pr_prolongation_s", "flutter_conduction_ratio",
    "pulse_arrival_foot_s", "pulse_arrival_resp_change_s",
    "pulse_amplitude_resp_change_frac", "pulse_amplitude_variation_frac", "eda_tonic_us",
    "ecg_axis_deg", "qrs_width_s", "t_wave_polarity_sign",
]
#: Categorical label columns (str): apnea type, AV block type (both measured on the
#: window's events), the subject's ECG lead.
SCENARIO_CATEGORIES = ["apnea_type", "av_block_type", "ecg_lead"]
#: Generator inputs of a scenario window, written as ``requested_<name>`` columns.
SCENARIO_REQUESTED = [
    "heart_rate_bpm", "heart_rate_change_bpm", "resp_rate_bpm", "resp_rate_change_bpm",
    "change_time_s", "rr_interval_cv", "ectopic_beat_count", "apnea_duration_s",
    "scr_number_count", "burst_number_count", "motion_amplitude_au", "hrv_scale",
    "pulse_amplitude_scale", "pulse_amplitude_resp_frac", "eda_tonic_rise_us",
]


def dynamics_of(scenario_class: str) -> str:
    """``ramp``, ``step`` or ``steady``: how the rates behave inside a window of this class."""
    if scenario_class in RAMP_CLASSES:
        return "ramp"
    if scenario_class in STEP_CLASSES:
        return "step"
    return "steady"
