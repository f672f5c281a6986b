"""Compare2Score (paper 001): score an image by comparing it with anchor images and solving for its place.

Every step is a separate, visible part (the diffusers idea: parts that can be swapped):

- ``levels``: the five comparative levels, Eq. 2 labels from MOS, Eq. 3 soft comparison, the prompt.
- ``comparators``: the comparator protocol (five level probabilities for an ordered pair of images).
- ``siamese``, ``siamese_network``, ``train``: the offline comparator trained here on distorted real photos.
- ``thurstone_nr``: any registry no-reference model as a comparator through Thurstone's model.
- ``vlm_comparator``: any transformers image-text-to-text model (and the authors' checkpoint).
- ``anchors``: Eq. 4 anchor selection and anchor sets (the default one ships in assets/anchors/).
- ``scoring``: the anchor matrix P_a (cached), b, the full P of Eq. 5, the MAP of Eq. 6, the score.
- ``export``: comparative instruction-response pairs (Eq. 2) for the authors' training code.
- ``registration``: registry cards (comparators and Compare2Score scorers); ``cli``: command line.
"""
