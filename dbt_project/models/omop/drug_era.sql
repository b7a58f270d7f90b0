-- One row per span of continuous exposure to an ingredient (OMOP DRUG_ERA): exposures roll
-- up to their RxNorm ingredients (concept_ancestor) and merge when the next starts within
-- 30 days of the latest end so far. gap_days = days in the era not covered by any
-- exposure. Two passes of window functions (gaps and islands), no self-join.
with exposures as (
    select
        drugs.person_id,
        ancestry.ancestor_concept_id as ingredient_concept_id,
        drugs.drug_exposure_start_date as start_date,
        greatest(
            coalesce(
                drugs.drug_exposure_end_date,
                drugs.drug_exposure_start_date + greatest(coalesce(drugs.days_supply, 1), 1) - 1
            ),
            drugs.drug_exposure_start_date
        ) as end_date
    from {{ ref('drug_exposure') }} as drugs
    inner join {{ source('vocab', 'concept_ancestor') }} as ancestry
        on drugs.drug_concept_id = ancestry.descendant_concept_id
    inner join {{ source('vocab', 'concept') }} as ingredients
        on ancestry.ancestor_concept_id = ingredients.concept_id
        and ingredients.vocabulary_id in ('RxNorm', 'RxNorm Extension')
        and ingredients.concept_class_id = 'Ingredient'
    where drugs.drug_concept_id <> 0
),

{{ gaps_and_islands('exposures', ['person_id', 'ingredient_concept_id'], 1, 'covered') }},

covered_spans as (
    -- Exposures merged where they overlap or touch: the days actually covered.
    select person_id, ingredient_concept_id, min(start_date) as start_date,
        max(end_date) as end_date, count(*) as exposures
    from covered
    group by person_id, ingredient_concept_id, island
),

{{ gaps_and_islands('covered_spans', ['person_id', 'ingredient_concept_id'], 30, 'persistent') }},

eras as (
    select
        person_id,
        ingredient_concept_id,
        min(start_date) as era_start,
        max(end_date) as era_end,
        sum(exposures) as exposures,
        (max(end_date) - min(start_date) + 1) - sum(end_date - start_date + 1) as gap_days
    from persistent
    group by person_id, ingredient_concept_id, island
)

select
{{ cdm_select({
    'drug_era_id': 'row_number() over (order by person_id, ingredient_concept_id, era_start)',
    'person_id': 'person_id',
    'drug_concept_id': 'ingredient_concept_id',
    'drug_era_start_date': 'era_start',
    'drug_era_end_date': 'era_end',
    'drug_exposure_count': 'exposures',
    'gap_days': 'gap_days',
}) }}
from eras
