"""Made-up people's names for the synthetic world (issue 25), by ethnic group.

The lists span the naming conventions of the groups in the person register, because linkage
error differs with them: a few surnames shared by many families (Khan, Begum, Patel; Nguyen;
Smith, Jones), names with apostrophes, accents and hyphens (O'Brien, Zoë, Kowalska-Nowak), "Mc"
and "Mac", names with several written forms (Mohammed, Muhammad), and conventions that put the
family name first (Chinese, Vietnamese, Hungarian), which agencies swap more often
(`SWAP_FACTOR`). The combinations are made up: no list row is a person. Each list is ordered
from common to rare, and names are drawn with Zipf-like weights (`NAME_ZIPF`), so namesakes
happen as they do in life.
"""

from __future__ import annotations

F, M = 0, 1  # the register's sex codes: F, M (U draws from both lists)

_WHITE_F = (
    "Olivia Emily Sophie Jessica Amelia Charlotte Lucy Hannah Grace Ellie Chloe Emma Sarah "
    "Rebecca Katherine Elizabeth Margaret Susan Patricia Deborah Victoria Jennifer Zoë Siobhan "
    "Aoife Niamh Agnieszka Katarzyna Małgorzata Anna Joanna Mary-Jane Abigail Samantha Natalie"
)
_WHITE_M = (
    "James Jack Thomas Oliver William Harry George Daniel Joseph Samuel Michael David Robert "
    "John Richard Christopher Matthew Andrew Peter Stephen Benjamin Edward Anthony Patrick Liam "
    "Seán Ciarán Piotr Krzysztof Tomasz Łukasz Jan Aleksander Nicholas Timothy Kenneth Frederick"
)
_WHITE_S = (
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans "
    "Walker White Roberts Green Hall Wood Jackson Clarke Murphy O'Brien O'Connor McDonald "
    "MacLeod McCarthy Kelly Byrne Nowak Kowalski Kowalska Wiśniewski Lewandowska Smith-Jones "
    "Fitzgerald Ó Súilleabháin Gallagher Hughes Edwards"
)
_ASIAN_F = (
    "Fatima Aisha Maryam Zainab Ayesha Amina Khadija Sana Nadia Priya Anjali Pooja Neha Sunita "
    "Harpreet Gurpreet Simran Jaspreet Shabana Nasreen Farzana Rukhsana Tasnim Li Mei Xiu Ying "
    "Hui Thi Mai Lan Anh Hoa"
)
_ASIAN_M = (
    "Mohammed Muhammad Mohamed Ahmed Ali Hassan Hussain Imran Bilal Omar Usman Zain Arjun Rahul "
    "Vikram Sanjay Amit Rajesh Harjit Gurdeep Sukhdev Jaswinder Abdul Rahman Wei Jun Hao Ming "
    "Minh Duc Tuan Quang"
)
_ASIAN_S = (
    "Khan Begum Patel Ahmed Hussain Ali Akhtar Mahmood Rahman Iqbal Shah Bibi Islam Uddin Miah "
    "Singh Kaur Sharma Gupta Mistry Chauhan Sandhu Gill Dhillon Chowdhury Wang Li Zhang Chen Liu "
    "Nguyen Tran Pham Le"
)
_BLACK_F = (
    "Grace Blessing Precious Abena Akosua Adaeze Chioma Ngozi Folake Funmilayo Yetunde Amara "
    "Nia Shanice Kezia Tanisha Keisha Jada Hodan Fadumo Hawa Mariama Fatoumata Aminata Esther "
    "Joy Comfort Ruth"
)
_BLACK_M = (
    "Kwame Kofi Kwabena Yaw Chukwuemeka Chidi Emeka Oluwaseun Adebayo Babatunde Olumide "
    "Tunde Jamal Tyrone Marcus Andre Jerome Leon Abdi Mohamed Ibrahim Mamadou Ousmane Samuel "
    "Daniel Emmanuel Michael Joseph"
)
_BLACK_S = (
    "Mensah Asante Owusu Boateng Osei Okafor Okonkwo Eze Nwosu Adeyemi Adebayo Okoro "
    "Oyelaran Ogunleye Campbell Williams Brown Thomas Johnson Francis Clarke Grant Reid "
    "Abdi Mohamed Warsame Diallo Bah Conteh Kamara Koroma"
)
_OTHER_F = (
    "Layla Yasmin Noor Rania Leila Elif Zeynep Ayşe Ana María Lucía Sofía Valentina Daniela "
    "Ioana Elena Andreea Maria Olena Yulia Agata Hana Eszter Zsófia"
)
_OTHER_M = (
    "Youssef Karim Tariq Omar Samir Mehmet Mustafa Emre Ahmet José Luis Carlos Javier Mateo "
    "Andrei Ion Mihai Oleksandr Dmitri Sergei Tamás László Gábor Dávid"
)
_OTHER_S = (
    "Haddad Nasser Khalil Saleh Mansour Yilmaz Kaya Demir Şahin Çelik García Rodríguez "
    "Fernández López Martínez Popescu Ionescu Pop Kovalenko Shevchenko Ivanova Nagy Kovács "
    "Tóth Szabó Horváth De la Cruz Dos Santos"
)


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _surnames(text: str) -> tuple[str, ...]:
    # Multi-word surnames are written with a '+' nowhere: join the known particles.
    words, out = text.split(), []
    i = 0
    while i < len(words):
        w = words[i]
        if w in ("De", "Dos", "Ó") and i + 1 < len(words):
            parts = [w, words[i + 1]]
            i += 2
            if parts[-1] == "la" and i < len(words):
                parts.append(words[i])
                i += 1
            out.append(" ".join(parts))
        else:
            out.append(w)
            i += 1
    return tuple(out)


# Per group of P.ETHNIC_GROUPS (WHITE, MIXED, ASIAN, BLACK, OTHER, NOT_STATED): forenames by
# sex (F, M) and surnames. MIXED and NOT_STATED draw their lists from the others (`MIX`).
NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "WHITE": (_split(_WHITE_F), _split(_WHITE_M), _surnames(_WHITE_S)),
    "ASIAN": (_split(_ASIAN_F), _split(_ASIAN_M), _surnames(_ASIAN_S)),
    "BLACK": (_split(_BLACK_F), _split(_BLACK_M), _surnames(_BLACK_S)),
    "OTHER": (_split(_OTHER_F), _split(_OTHER_M), _surnames(_OTHER_S)),
}
# Which lists a person of a mixed or unstated group draws from, with what chance.
MIX: dict[str, dict[str, float]] = {
    "MIXED": {"WHITE": 0.45, "BLACK": 0.3, "ASIAN": 0.2, "OTHER": 0.05},
    "NOT_STATED": {"WHITE": 0.75, "ASIAN": 0.1, "BLACK": 0.08, "OTHER": 0.07},
}
NAME_ZIPF = 0.9  # weight of the k-th name of a list is 1 / k**NAME_ZIPF
# How much more often than the agency's base rate a group's forename and surname are swapped
# (family name first in Chinese, Vietnamese and Hungarian convention; single-word names).
SWAP_FACTOR = {"WHITE": 1.0, "MIXED": 1.5, "ASIAN": 3.0, "BLACK": 1.5, "OTHER": 3.0}
SWAP_FACTOR["NOT_STATED"] = 1.5
STREETS = (
    "Acacia Road",
    "Mill Lane",
    "Church Street",
    "Station Road",
    "Victoria Road",
    "Park Avenue",
    "Green Lane",
    "Manor Road",
    "Kings Road",
    "Queens Road",
    "New Street",
    "Orchard Close",
    "The Crescent",
    "Highfield Road",
    "Windsor Drive",
    "Chapel Lane",
    "Albert Street",
    "Grange Road",
    "Springfield Way",
    "Meadow View",
)
